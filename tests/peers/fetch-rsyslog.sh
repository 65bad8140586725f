#!/bin/sh
# Unpacks Debian's rsyslog and its OpenSSL/GnuTLS drivers into DIR without
# installing them (rsyslog conflicts with syslog-ng-core). Idempotent.
# Tests run it as DIR/rsyslog/usr/sbin/rsyslogd -M DIR/rsyslog/usr/lib/x86_64-linux-gnu/rsyslog.
set -eu
mkdir -p "$1"
root=$(cd "$1" && pwd)
dir=$root/rsyslog
[ -x "$dir/usr/sbin/rsyslogd" ] && [ -f "$dir/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so" ] && exit 0
mkdir -p "$root/debs"
cd "$root/debs"
if ! apt-get download rsyslog rsyslog-openssl rsyslog-gnutls >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get download rsyslog rsyslog-openssl rsyslog-gnutls
fi
for deb in rsyslog_*.deb rsyslog-openssl_*.deb rsyslog-gnutls_*.deb; do dpkg-deb -x "$deb" "$dir"; done
# rsyslogd's shared-library dependencies (liblognorm, libestr, libfastjson, ...)
missing=$(ldd "$dir/usr/sbin/rsyslogd" "$dir"/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_*.so 2>/dev/null |
          awk '/not found/ {print $1}' | sort -u)
if [ -n "$missing" ]; then
  pkgs=""
  for lib in $missing; do
    case $lib in
      libestr*) pkgs="$pkgs libestr0" ;;
      libfastjson*) pkgs="$pkgs libfastjson4" ;;
      liblognorm*) pkgs="$pkgs liblognorm5" ;;
      *) echo "fetch-rsyslog: $lib not found and not known" >&2 ;;
    esac
  done
  [ -n "$pkgs" ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs
fi
echo "rsyslog unpacked into $dir"
