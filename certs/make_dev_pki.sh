#!/bin/sh
# make_dev_pki.sh: a throwaway PKI for production-like tests of trailkeepd,
# made with the openssl command line only. See certs/README.md.
#
#   make_dev_pki.sh [-o DIR] [-s SAN]... [-c HOST]... [-r HOST]... [-C] [-D DAYS]
#
#   -o DIR   output folder (default ./dev-pki); created mode 0700
#   -s SAN   server certificate name: a DNS name or an IP address (repeatable;
#            default localhost, 127.0.0.1, ::1). The first -s is also the CN.
#            Given -s, the server certificate is issued again.
#   -c HOST  client certificate for sender HOST: client-HOST.pem/.key, CN and
#            SAN dNSName HOST (repeatable; an existing one is kept)
#   -r HOST  revoke client-HOST.pem (repeatable; implies -C)
#   -C       write crl.pem, the CA's CRL (valid for DAYS days)
#   -D DAYS  CRL validity in days (default 30)
#
# The CA (ca.pem, ca.key) is made on the first run and reused afterwards, so
# running the script again adds clients or revokes them under the same CA.
# Keys are EC P-256, mode 0600. Never use the result in production: the CA
# key sits next to the certificates.
set -eu

dir=./dev-pki
sans=
clients=
revoke=
crl=no
crl_days=30

usage() {
  sed -n '5,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while getopts o:s:c:r:CD:h opt; do
  case $opt in
    o) dir=$OPTARG ;;
    s) sans="$sans $OPTARG" ;;
    c) clients="$clients $OPTARG" ;;
    r) revoke="$revoke $OPTARG"; crl=yes ;;
    C) crl=yes ;;
    D) crl_days=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
case $crl_days in '' | *[!0-9]*) echo "make_dev_pki.sh: -D needs a number of days" >&2; exit 2 ;; esac

# Names end up in file names and certificate fields: keep them plain.
for name in $sans; do
  case $name in
    *[!A-Za-z0-9.:*_-]* | -*) echo "make_dev_pki.sh: bad server name '$name'" >&2; exit 2 ;;
  esac
done
for name in $clients $revoke; do
  case $name in
    *[!A-Za-z0-9._-]* | -*) echo "make_dev_pki.sh: bad host name '$name'" >&2; exit 2 ;;
  esac
done

umask 077
mkdir -p "$dir"
cd "$dir"
mkdir -p ca-db
[ -f ca-db/index.txt ] || : > ca-db/index.txt
[ -f ca-db/crlnumber ] || echo 01 > ca-db/crlnumber

# One config file for certificate extensions and for `openssl ca` (CRLs).
cat > openssl.cnf <<'EOF'
[ca]
default_ca = dev_ca

[dev_ca]
database = ca-db/index.txt
crlnumber = ca-db/crlnumber
certificate = ca.pem
private_key = ca.key
default_md = sha256
default_crl_days = 30
unique_subject = no
crl_extensions = crl_ext

[crl_ext]
authorityKeyIdentifier = keyid:always

[req]
distinguished_name = dn
prompt = no

[dn]

[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyAgreement
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
  chmod 600 "$1"
}

# issue NAME CN EKU SAN-LIST: NAME.key and NAME.pem, signed by the CA.
issue() {
  new_key "$1.key"
  openssl req -new -key "$1.key" -subj "/O=trailkeep dev/CN=$2" -out "$1.csr"
  {
    echo "[ext]"
    sed -n '/^\[leaf\]/,$p' openssl.cnf | sed 1d
    echo "extendedKeyUsage = $3"
    echo "subjectAltName = $4"
  } > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAserial ca-db/serial \
    -CAcreateserial -days 825 -sha256 -extfile "$1.ext" -extensions ext -out "$1.pem" 2>/dev/null
  chmod 644 "$1.pem"
  rm -f "$1.csr" "$1.ext"
  echo "issued $1.pem ($4)"
}

if [ ! -f ca.pem ] || [ ! -f ca.key ]; then
  new_key ca.key
  openssl req -new -x509 -key ca.key -subj "/O=trailkeep dev/CN=trailkeep dev CA" \
    -days 3650 -sha256 -config openssl.cnf -extensions v3_ca -out ca.pem
  chmod 644 ca.pem
  echo "made ca.pem"
fi

if [ -n "$sans" ] || [ ! -f server.pem ]; then
  [ -n "$sans" ] || sans="localhost 127.0.0.1 ::1"
  list=
  cn=
  for san in $sans; do
    case $san in
      *:*) entry="IP:$san" ;;         # IPv6
      *[!0-9.]*) entry="DNS:$san" ;;
      *.*) entry="IP:$san" ;;         # IPv4
      *) entry="DNS:$san" ;;
    esac
    list="${list:+$list,}$entry"
    [ -n "$cn" ] || cn=$san
  done
  issue server "$cn" serverAuth "$list"
fi

for host in $clients; do
  if [ -f "client-$host.pem" ]; then
    echo "kept client-$host.pem (exists)"
  else
    issue "client-$host" "$host" clientAuth "DNS:$host"
  fi
done

for host in $revoke; do
  if [ ! -f "client-$host.pem" ]; then
    echo "make_dev_pki.sh: no client-$host.pem to revoke" >&2
    exit 1
  fi
  serial=$(openssl x509 -in "client-$host.pem" -noout -serial | sed 's/^serial=//')
  if grep -q "^R.*	$serial	" ca-db/index.txt; then
    echo "client-$host.pem was already revoked"
  else
    openssl ca -config openssl.cnf -revoke "client-$host.pem" -batch 2>/dev/null
    echo "revoked client-$host.pem"
  fi
done

if [ "$crl" = yes ]; then
  openssl ca -config openssl.cnf -gencrl -crldays "$crl_days" -out crl.pem -batch 2>/dev/null
  chmod 644 crl.pem
  echo "wrote crl.pem (valid $crl_days days)"
fi
