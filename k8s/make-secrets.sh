#!/usr/bin/env sh
# Write the git-ignored secret files that k8s/secrets/kustomization.yaml reads, with fresh random
# values; a file that exists already is kept. Usage: k8s/make-secrets.sh [DIR] (default k8s/secrets).
set -eu
dir="${1:-$(dirname "$0")/secrets}"
umask 077
mkdir -p "$dir"

# N random bytes as hex: URL-safe, so the passwords need no escaping inside MONGO_URI.
rand() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# Values are written without a trailing newline: kustomize keeps a file's bytes as they are.
new() {
    if [ -s "$dir/$1" ]; then
        echo "kept  $dir/$1"
    else
        printf '%s' "$2" > "$dir/$1"
        echo "wrote $dir/$1"
    fi
}

new mongo-root-username root
new mongo-root-password "$(rand 24)"
# One MongoDB user per component (roles: k8s/base/mongodb/mongodb-init-configmap.yaml).
for component in api inference workflow; do
    new "mongo-$component-username" "detector-$component"
    new "mongo-$component-password" "$(rand 24)"
    new "mongo-uri-$component" "mongodb://$(cat "$dir/mongo-$component-username"):$(cat "$dir/mongo-$component-password")@mongodb-0.mongodb:27017/?authSource=admin&tls=true&tlsCAFile=/etc/detector-mongo-ca/ca.pem"
done
# MLflow basic auth: its admin (the api's init container), the read-only and the writing user.
new mlflow-admin-password "$(rand 24)"
new mlflow-flask-secret-key "$(rand 32)"
new mlflow-scorer-username scorer
new mlflow-scorer-password "$(rand 24)"
new mlflow-trainer-username trainer
new mlflow-trainer-password "$(rand 24)"
new jwt-secret "$(rand 32)"
new inference-token "$(rand 32)"
new admin-password "$(rand 16)"

# TLS to MongoDB: a private CA (its key is thrown away once it has signed) and the server's
# key + certificate. Both files or neither: with only one left, remove it and run this again.
# mongodb-ca.pem: Secrets mongodb-tls (ca.pem) and detector-mongo-ca (ca.pem, the clients').
ns=deepfake-detector
if [ -s "$dir/mongodb-ca.pem" ] && [ -s "$dir/mongodb-server.pem" ]; then
    echo "kept  $dir/mongodb-ca.pem $dir/mongodb-server.pem"
elif [ -e "$dir/mongodb-ca.pem" ] || [ -e "$dir/mongodb-server.pem" ]; then
    echo "only one of $dir/mongodb-ca.pem, $dir/mongodb-server.pem: remove it to make both" >&2
    exit 1
else
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    openssl req -x509 -new -nodes -newkey rsa:3072 -sha256 -days 3650 \
        -subj "/CN=deepfake-detector MongoDB CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
    openssl req -new -nodes -newkey rsa:3072 -sha256 -subj "/CN=mongodb-0.mongodb" \
        -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
    san="DNS:mongodb-0.mongodb,DNS:mongodb-0.mongodb.$ns,DNS:mongodb-0.mongodb.$ns.svc"
    san="$san,DNS:mongodb-0.mongodb.$ns.svc.cluster.local,DNS:mongodb,DNS:mongodb.$ns"
    san="$san,DNS:mongodb.$ns.svc,DNS:mongodb.$ns.svc.cluster.local,DNS:localhost,IP:127.0.0.1"
    printf '%s\n' "subjectAltName=$san" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
        > "$tmp/server.ext"
    openssl x509 -req -sha256 -days 825 -in "$tmp/server.csr" -CA "$tmp/ca.pem" \
        -CAkey "$tmp/ca.key" -set_serial "0x$(rand 16)" -extfile "$tmp/server.ext" \
        -out "$tmp/server.crt" 2>/dev/null
    cat "$tmp/server.key" "$tmp/server.crt" > "$dir/mongodb-server.pem"
    cp "$tmp/ca.pem" "$dir/mongodb-ca.pem"
    echo "wrote $dir/mongodb-ca.pem $dir/mongodb-server.pem"
fi
