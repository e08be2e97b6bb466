<?php
// A stand-in for Friendica's bin/console.php (tests only): the commands roost uses, same shape.
require __DIR__ . '/../src/Module/Register.php';
$dir = getenv('FRIENDICA_CONFIG_DIR') ?: 'config';
function fail($m) { fwrite(STDERR, $m . "\n"); exit(1); }
function db($c) {
    $d = $c['database'];
    if ($d['hostname'] !== '' || $d['password'] !== '') fail('expected the socket, no password');
    return new PDO('mysql:unix_socket=' . $d['socket'] . ';dbname=' . $d['database']
        . ';charset=' . $d['charset'], $d['username'], $d['password'],
        [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
}
$a = array_slice($argv, 1);
if ($a[0] === 'autoinstall') {
    if (($a[1] ?? '') !== '-f' || !file_exists($a[2] ?? ''))
        fail('ERROR: Config file does not exist.');
    $c = include $a[2];
    if (!is_array($c)) fail('Error loading config file');
    if (!is_writable('view/smarty3')) fail('view/smarty3 is writable: no');
    $pdo = db($c);
    if ($pdo->query("SHOW TABLES LIKE 'user'")->fetch()) fail('Database already in use.');
    if ($a[2] !== 'config/local.config.php' && !copy($a[2], 'config/local.config.php'))
        fail('ERROR: Saving config file failed.');
    $pdo->exec('CREATE TABLE workerqueue (id INT AUTO_INCREMENT PRIMARY KEY, ran DATETIME)');
    $pdo->exec('CREATE TABLE `user` (uid INT AUTO_INCREMENT PRIMARY KEY, username VARCHAR(255),'
        . ' nickname VARCHAR(255) UNIQUE, email VARCHAR(255), password VARCHAR(255) DEFAULT "")');
    echo "Installation is finished\n";
    exit(0);
}
$c = include $dir . '/local.config.php';
$pdo = db($c);
if ($a[0] === 'user' && $a[1] === 'add') {
    echo "Enter URL of an image to use as avatar (optional): \n";
    fgets(STDIN);
    $s = $pdo->prepare('INSERT INTO `user` (username, nickname, email) VALUES (?, ?, ?)');
    $s->execute([$a[2], $a[3], $a[4]]);
    exit(0);
}
if ($a[0] === 'user' && $a[1] === 'password' && count($a) === 3) {
    echo 'Enter new password: ';
    $pw = preg_replace('{\r?\n$}D', '', shell_exec(
        "/usr/bin/env bash -c 'stty -echo; read -r mypassword; stty echo; echo \$mypassword'"));
    $pw = trim($pw);
    if ($pw === '') fail('Empty passwords are not allowed.');
    $s = $pdo->prepare('UPDATE `user` SET password = ? WHERE nickname = ?');
    $s->execute([password_hash($pw, PASSWORD_DEFAULT), $a[2]]);
    if ($s->rowCount() !== 1) fail('User not found');
    echo "Password changed.\n";
    exit(0);
}
fail('unknown command');
