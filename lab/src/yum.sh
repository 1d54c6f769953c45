#!/bin/sh
# yum of the apex lab images (busybox, no real package manager): records what
# a Dockerfile written for CentOS images asks for, so its effect can be read
# back from /var/log/apex-lab/yum.log; fails on packages it does not know.
# The opendaylight package is modelled: remove deletes /opt/opendaylight/VERSION,
# install writes there the release named by the enabled repo's baseurl.
LOG=/var/log/apex-lab/yum.log
DB=/var/lib/apex-lab/yum/installed
KNOWN="opendaylight patch git vim-enhanced tcpdump wget curl iproute net-tools openvswitch
python-pip python2-pip python-setuptools python2-setuptools sudo which tar gzip"

mkdir -p /var/log/apex-lab /var/lib/apex-lab/yum || exit 1
touch "$DB" "$LOG" || exit 1
log() { echo "$*" >> "$LOG"; }

known() {
  case "$1" in python-networking-* | python2-networking-*) return 0 ;; esac
  for k in $KNOWN; do [ "$k" = "$1" ] && return 0; done
  return 1
}

# "file baseurl enabled" for every repo section in /etc/yum.repos.d.
repos() {
  for f in /etc/yum.repos.d/*.repo; do
    [ -f "$f" ] || continue
    awk -v f="$f" '
      function flush() { if (url != "") print f, url, en; url = ""; en = 1 }
      /^[ \t]*\[/ { flush(); next }
      /^[ \t]*baseurl[ \t]*=/ { sub(/^[ \t]*baseurl[ \t]*=[ \t]*/, ""); url = $0; next }
      /^[ \t]*enabled[ \t]*=/ { sub(/^[ \t]*enabled[ \t]*=[ \t]*/, ""); en = $0; next }
      END { flush() }
      BEGIN { en = 1 }' "$f"
  done
}

# The OpenDaylight release of the first enabled repo whose baseurl names one.
odl_release() {
  repos | while read -r file url enabled; do
    [ "$enabled" = "0" ] && continue
    rel=$(echo "$url" | sed -n 's#.*opendaylight-\([^/]*\).*#\1#p' | sed 's#-epel.*##')
    if [ -n "$rel" ]; then echo "$rel"; break; fi
  done
}

installed() { grep -qx "$1" "$DB"; }

install_pkg() {
  if [ "$1" = opendaylight ]; then
    rel=$(odl_release)
    if [ -z "$rel" ]; then
      log "error: no enabled repo provides opendaylight"
      echo "No package opendaylight available (no enabled repo names an opendaylight release)." >&2
      return 1
    fi
    mkdir -p /opt/opendaylight && echo "$rel" > /opt/opendaylight/VERSION || return 1
    log "install opendaylight $rel"
  else
    log "install $1"
  fi
  installed "$1" || echo "$1" >> "$DB"
}

remove_pkg() {
  [ "$1" = opendaylight ] && rm -f /opt/opendaylight/VERSION
  log "remove $1"
  grep -vx "$1" "$DB" > "$DB.new"; mv "$DB.new" "$DB"
}

log "yum $*"
repos | while read -r file url enabled; do log "repo $file baseurl=$url enabled=$enabled"; done

cmd=""
pkgs=""
for a in "$@"; do
  case "$a" in
    -*) ;;
    *) if [ -z "$cmd" ]; then cmd="$a"; else pkgs="$pkgs $a"; fi ;;
  esac
done

case "$cmd" in
  install | reinstall | update | upgrade | remove | erase)
    for p in $pkgs; do
      if ! known "$p"; then
        log "error: unknown package $p"
        echo "No package $p available." >&2
        echo "Error: Nothing to do" >&2
        exit 1
      fi
    done
    for p in $pkgs; do
      case "$cmd" in
        remove | erase) remove_pkg "$p" ;;
        update | upgrade) installed "$p" && { install_pkg "$p" || exit 1; } ;;
        *) install_pkg "$p" || exit 1 ;;
      esac
    done
    [ "$cmd" = update ] && [ -z "$pkgs" ] && log "update all"
    ;;
  clean | makecache | repolist) log "$cmd" ;;
  list) cat "$DB" ;;
  "") echo "yum: no command given" >&2; exit 1 ;;
  *) echo "yum: command $cmd not supported by the apex lab stand-in" >&2; log "error: unsupported $cmd"; exit 1 ;;
esac
exit 0
