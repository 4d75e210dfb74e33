# Shared by the scripts: find (or fetch) the Go toolchain and the database packages.
# Sourced, not run.

GO_VERSION=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../go.mod")
GO_WANT=1.26.8   # the toolchain fetched when no Go >= $GO_VERSION is installed

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() { # packages...
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_go puts a Go toolchain new enough for go.mod on PATH. Without one it
# fetches the official toolchain from the Go module proxy (the same zip that
# `go` itself downloads for GOTOOLCHAIN) into ~/.cache/dts/go.
ensure_go() {
  for g in go /usr/local/go/bin/go "$HOME/.cache/dts/go/bin/go"; do
    if command -v "$g" >/dev/null 2>&1; then
      local have; have=$("$g" env GOVERSION 2>/dev/null | sed 's/^go//')
      if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$GO_VERSION" "$have" | sort -V | head -1)" = "$GO_VERSION" ]; then
        export PATH="$(dirname "$(command -v "$g")"):$PATH"
        return 0
      fi
    fi
  done
  apt_install ca-certificates curl unzip
  local dir="$HOME/.cache/dts" zip="go$GO_WANT.zip"
  local mod="golang.org/toolchain@v0.0.1-go$GO_WANT.linux-$(dpkg --print-architecture)"
  echo "fetching Go $GO_WANT from the module proxy" >&2
  mkdir -p "$dir" && rm -rf "$dir/go" "$dir/golang.org"
  curl -fsSL "${GOPROXY_URL:-https://proxy.golang.org}/golang.org/toolchain/@v/${mod#*@}.zip" -o "$dir/$zip"
  unzip -q "$dir/$zip" -d "$dir" && mv "$dir/$mod" "$dir/go" && rm -rf "$dir/golang.org" "$dir/$zip"
  export PATH="$dir/go/bin:$PATH"
}

# ensure_databases installs the MariaDB and PostgreSQL server binaries the
# test harness starts (it never uses the services the packages may start).
ensure_databases() {
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
  apt_install libfaketime # servers with a skewed clock (testenv.MariaDBOptions.ClockOffset)
}
