#!/usr/bin/env bash
# README's run command: installs what is missing, builds, starts a demo pool (conf.d/demo.conf)
# behind nginx on http://127.0.0.1:8080. `bash scripts/demo.sh stop` stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
run=/run/php-pool-demo

stop() {
  for f in "$run/nginx.pid" "$run/php-pool.pid"; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}
if [ "${1:-}" = stop ]; then stop; echo "demo stopped"; exit 0; fi

bash scripts/install-deps.sh
[ -d build ] || meson setup build
ninja -C build src/php-pool

stop
mkdir -p "$run/www" /run/php-pool
cp -r scripts/demo/www/. "$run/www/"
chmod -R a+rX "$run"

cat > "$run/nginx.conf" <<NGINX
daemon on;
user www-data;
pid $run/nginx.pid;
error_log $run/nginx-error.log;
worker_processes 1;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $run/tmp; fastcgi_temp_path $run/tmp; proxy_temp_path $run/tmp;
  uwsgi_temp_path $run/tmp; scgi_temp_path $run/tmp;
  server {
    listen 127.0.0.1:8080;
    root $run/www;
    index index.php;
    location / { try_files \$uri \$uri/ /index.php\$is_args\$args; }
    location ~ ^/(status|ping)$ { include /etc/nginx/fastcgi_params; fastcgi_param SCRIPT_NAME \$uri; fastcgi_pass unix:/run/php-pool/demo.sock; }
    location ~ [^/]\.php(/|$) {
      fastcgi_split_path_info ^(.+?\.php)(/.*)$;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_param PATH_INFO \$fastcgi_path_info;
      fastcgi_pass unix:/run/php-pool/demo.sock;
    }
  }
}
NGINX
mkdir -p "$run/tmp"

build/src/php-pool --config conf.d/demo.conf --instance demo >"$run/php-pool.log" 2>&1 &
echo $! > "$run/php-pool.pid"
for _ in $(seq 50); do [ -S /run/php-pool/demo.sock ] && break; sleep 0.1; done
nginx -c "$run/nginx.conf"

cat <<MSG
php-pool demo is running (pool 'demo', manager pid $(cat "$run/php-pool.pid")):
  curl http://127.0.0.1:8080/
  curl http://127.0.0.1:8080/index.php/some/path?x=1
  curl http://127.0.0.1:8080/ping
  curl 'http://127.0.0.1:8080/status?full'
Log: $run/php-pool.log
Stop: bash scripts/demo.sh stop
MSG
