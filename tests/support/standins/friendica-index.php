<?php
require __DIR__ . '/src/Module/Register.php';
$c = include $_SERVER['FRIENDICA_CONFIG_DIR'] . '/local.config.php';
$d = $c['database'];
$pdo = new PDO('mysql:unix_socket=' . $d['socket'] . ';dbname=' . $d['database'],
    $d['username'], '');
$page = trim($_GET['pagename'] ?? '', '/');
if ($page === 'friendica/json') {
    $s = $pdo->prepare('SELECT username FROM `user` WHERE email = ?');
    $s->execute([$c['config']['admin_email']]);
    $admin = $s->fetchColumn();
    header('Content-Type: application/json');
    echo json_encode(['version' => '2024.08', 'url' => $c['system']['url'],
        'admin' => $admin ? ['name' => $admin] : [], 'site_name' => $c['config']['sitename'],
        'platform' => 'friendica']);
} elseif ($page === 'login' && $_SERVER['REQUEST_METHOD'] === 'POST') {
    $s = $pdo->prepare('SELECT password FROM `user` WHERE nickname = ?');
    $s->execute([$_POST['username'] ?? '']);
    $hash = $s->fetchColumn();
    if ($hash && password_verify($_POST['password'] ?? '', $hash)) { echo 'welcome'; }
    else { http_response_code(403); echo 'wrong'; }
} else {
    http_response_code(404);
}
