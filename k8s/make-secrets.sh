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
    new "mongo-uri-$component" "mongodb://$(cat "$dir/mongo-$component-username"):$(cat "$dir/mongo-$component-password")@mongodb-0.mongodb:27017/?authSource=admin"
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
