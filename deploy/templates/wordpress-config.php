<?php
// Written by roost (wordpress). Changes here are replaced on the next deploy.
// The database is reached over MariaDB's socket as the web server's own user (www-data):
// there is no database password to keep or leak.
define('DB_NAME', 'wordpress');
define('DB_USER', 'www-data');
define('DB_PASSWORD', '');
define('DB_HOST', 'localhost');
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
define('WP_HOME', '${url}');
define('WP_SITEURL', '${url}');
define('DISALLOW_FILE_EDIT', true);
require '/etc/wordpress/roost-salts.php';
