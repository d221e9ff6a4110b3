#!/usr/bin/env bash
# Generates a private test PKI with the openssl CLI into the directory given as $1:
#   ca.pem/ca.key            test root CA
#   other-ca.pem             an unrelated CA (for "unknown issuer")
#   server-{rsa,ecdsa,ed25519,p384,p521}.{pem,key}   localhost / 127.0.0.1 leaves (chain = leaf)
#   expired.{pem,key}        a leaf that expired in the past
#   client.{pem,key}         a client-auth certificate issued by ca.pem
#   bad-*.{pem,key}          leaves each certificate-error class rejects (intermediates: bad-*.chain),
#                            and ca.crl / other.crl (ca.crl revokes bad-revoked and client-revoked;
#                            other.crl is other-ca's; expired.crl is ca's, past its nextUpdate)
#   server-ecdsa.ocsp        the CA's DER OCSP response: server-ecdsa.pem is good (for stapling)
set -euo pipefail
# DAYS: leaf validity (default 825); committed unit-test fixtures use a long one.
out=${1:?usage: gen-certs.sh DIR}
mkdir -p "$out"
cd "$out"
[ -f .done ] && exit 0

san="subjectAltName=DNS:localhost,IP:127.0.0.1"
ca_ext="basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign"

mkca() { # name subject
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -out "$1.pem" -days 3650 -subj "$2" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
mkleaf() { # name keyalg-args subject ext [extra x509 args]
  local name=$1 subj=$3 ext=$4; shift 4
  # shellcheck disable=SC2086
  openssl req -new -nodes $KEYARGS -keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
  printf '%s\n' "$ext" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$name.pem" \
    -extfile "$name.ext" "$@" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

mkca ca "/CN=tlswire test CA"
mkca other-ca "/CN=tlswire unrelated CA"
leaf_ext="$san
extendedKeyUsage=serverAuth
basicConstraints=CA:FALSE"
KEYARGS="-newkey rsa:2048" mkleaf server-rsa x "/CN=localhost" "$leaf_ext" -days "${DAYS:-825}"
KEYARGS="-newkey ec -pkeyopt ec_paramgen_curve:P-256" mkleaf server-ecdsa x "/CN=localhost" "$leaf_ext" -days "${DAYS:-825}"
KEYARGS="-newkey ed25519" mkleaf server-ed25519 x "/CN=localhost" "$leaf_ext" -days "${DAYS:-825}"
KEYARGS="-newkey ec -pkeyopt ec_paramgen_curve:P-384" mkleaf server-p384 x "/CN=localhost" "$leaf_ext" -days "${DAYS:-825}"
KEYARGS="-newkey ec -pkeyopt ec_paramgen_curve:P-521" mkleaf server-p521 x "/CN=localhost" "$leaf_ext" -days "${DAYS:-825}"
# Expired: valid from 2001 to 2002 (openssl 3.0's x509 has no -not_before, `openssl ca` does).
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout expired.key \
  -out expired.csr -subj "/CN=localhost" 2>/dev/null
printf '%s\n' "$leaf_ext" > expired.ext
: > index.txt
echo 1000 > serial
printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n' > ca.cnf
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
  -extfile expired.ext -startdate 20010101000000Z -enddate 20020101000000Z -notext 2>/dev/null
rm -f expired.csr expired.ext ca.cnf index.txt* serial* 1000.pem
KEYARGS="-newkey ec -pkeyopt ec_paramgen_curve:P-256" mkleaf client x "/CN=tlswire test client" \
  "extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE" -days "${DAYS:-825}"

# One leaf per certificate-error class (tlswire's CERT_* codes); each served with `-cert_chain`
# where it needs an intermediate.
ecleaf="-newkey ec -pkeyopt ec_paramgen_curve:P-256"
KEYARGS="$ecleaf" mkleaf bad-key-usage x "/CN=localhost" "$leaf_ext
keyUsage=critical,keyAgreement" -days 825
KEYARGS="$ecleaf" mkleaf bad-client-key-usage x "/CN=tlswire test client" "extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE
keyUsage=critical,keyAgreement" -days 825
KEYARGS="-newkey rsa:2048" mkleaf bad-rsa-encipherment x "/CN=localhost" "$leaf_ext
keyUsage=critical,keyEncipherment" -days 825
KEYARGS="-newkey rsa:1024" mkleaf bad-weak-key x "/CN=localhost" "$leaf_ext" -days 825
KEYARGS="$ecleaf" mkleaf bad-purpose x "/CN=localhost" "$san
extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE" -days 825
KEYARGS="$ecleaf" mkleaf bad-ca-as-leaf x "/CN=localhost" "$san
basicConstraints=critical,CA:TRUE
keyUsage=critical,digitalSignature,keyCertSign" -days 825
KEYARGS="$ecleaf" mkleaf bad-sha1 x "/CN=localhost" "$leaf_ext" -days 825 -sha1
KEYARGS="$ecleaf" mkleaf bad-revoked x "/CN=localhost" "$leaf_ext" -days 825
KEYARGS="$ecleaf" mkleaf client-revoked x "/CN=tlswire revoked client" "extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE" -days 825
# Intermediates: one with name constraints that exclude localhost, one with pathlen 0 that issues
# another CA, and an end-entity certificate that issues a leaf.
mkchild() { # name issuer subject ext
  openssl req -new -nodes $ecleaf -keyout "$1.key" -out "$1.csr" -subj "$3" 2>/dev/null
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" \
    -extfile "$1.ext" -days 825 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
mkchild nc-ca ca "/CN=tlswire constrained CA" "$ca_ext
nameConstraints=critical,permitted;DNS:.example.com"
mkchild bad-name-constraints nc-ca "/CN=localhost" "$leaf_ext"
cp nc-ca.pem bad-name-constraints.chain
mkchild len0-ca ca "/CN=tlswire pathlen-0 CA" "basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign"
mkchild len0-sub len0-ca "/CN=tlswire sub-CA under pathlen 0" "$ca_ext"
mkchild bad-path-length len0-sub "/CN=localhost" "$leaf_ext"
cat len0-sub.pem len0-ca.pem > bad-path-length.chain
mkchild ee-issuer ca "/CN=tlswire end entity" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyCertSign"
mkchild bad-ee-as-ca ee-issuer "/CN=localhost" "$leaf_ext"
cp ee-issuer.pem bad-ee-as-ca.chain
# CRLs: ca.crl revokes bad-revoked; other.crl is other-ca's (covers nothing here).
crl() { # ca-name out [-crl_lastupdate T -crl_nextupdate T] [certs to revoke...]
  : > index.txt
  printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ndefault_md=sha256\ndefault_crl_days=3650\ncrl_extensions=e\n[e]\nauthorityKeyIdentifier=keyid:always\n' > crl.cnf
  local ca=$1 out=$2 dates=(); shift 2
  [ "${1:-}" = -crl_lastupdate ] && { dates=("$1" "$2" "$3" "$4"); shift 4; }
  for cert in "$@"; do
    openssl ca -batch -config crl.cnf -cert "$ca.pem" -keyfile "$ca.key" -revoke "$cert" 2>/dev/null
  done
  openssl ca -batch -config crl.cnf -cert "$ca.pem" -keyfile "$ca.key" -gencrl "${dates[@]}" -out "$out" 2>/dev/null
  rm -f crl.cnf index.txt*
}
crl ca ca.crl bad-revoked.pem client-revoked.pem
crl other-ca other.crl
# expired.crl: the CA's, revoking nothing, whose nextUpdate has passed.
crl ca expired.crl -crl_lastupdate 20200101000000Z -crl_nextupdate 20200201000000Z
# OCSP: server-ecdsa.ocsp, the CA's DER OCSP response saying server-ecdsa.pem is good (for stapling).
: > index.txt
printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ndefault_md=sha256\n' > ocsp.cnf
openssl ca -batch -config ocsp.cnf -cert ca.pem -keyfile ca.key -valid server-ecdsa.pem 2>/dev/null
openssl ocsp -issuer ca.pem -cert server-ecdsa.pem -no_nonce -reqout ocsp-req.der 2>/dev/null
openssl ocsp -index index.txt -rsigner ca.pem -rkey ca.key -CA ca.pem -reqin ocsp-req.der \
  -respout server-ecdsa.ocsp -ndays 3650 >/dev/null 2>&1
rm -f ocsp.cnf ocsp-req.der index.txt*
rm -f ./*.srl
touch .done
