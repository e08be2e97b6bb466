<?php
// Written by roost (friendica). Changes here are replaced on the next deploy; settings made
// in Friendica's admin pages are kept in node.config.php next to this file.
// The database is reached over MariaDB's socket as the web server's own user (www-data,
// unix_socket authentication): there is no database password to keep or leak.
return [
	'database' => [
		'hostname' => '',
		'socket' => '/run/mysqld/mysqld.sock',
		'username' => 'www-data',
		'password' => '',
		'database' => 'friendica',
		'charset' => 'utf8mb4',
	],
	'config' => [
		'admin_email' => '${admin_email}',
		'sitename' => '${sitename}',
		'register_policy' => \Friendica\Module\Register::CLOSED,
		'php_path' => '/usr/bin/php',
	],
	'system' => [
		'url' => '${url}',
		'basepath' => '${app}',
		'default_timezone' => 'UTC',
		'language' => 'en',
	],
];
