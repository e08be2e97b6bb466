<?php
require __DIR__ . '/../src/Module/Register.php';
$c = include getenv('FRIENDICA_CONFIG_DIR') . '/local.config.php';
$d = $c['database'];
$pdo = new PDO('mysql:unix_socket=' . $d['socket'] . ';dbname=' . $d['database'],
    $d['username'], '');
$pdo->exec('INSERT INTO workerqueue (ran) VALUES (NOW())');
