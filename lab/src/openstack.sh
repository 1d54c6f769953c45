#!/usr/bin/env bash
# The `openstack` command of the apex lab undercloud: appends its argv as one
# JSON line to the calls file and fails like the real one where a deploy
# could get it wrong: stackrc not sourced, an `-e` environment file, the
# --networks-file, instackenv.json or an overcloud image file that does not
# exist (relative paths resolve in the work dir, where a deploy uploads its
# files). `overcloud deploy` first sleeps as many seconds as the slow file
# says (writing its PID to <slow file>.started), then fails when the fail file
# exists (its text is what `stack failures list` shows), else writes
# overcloudrc. Before that it resolves the templates as Heat would
# (resolve_templates). It deploys nothing.
CALLS=@CALLS@
WORK_DIR=@WORK_DIR@
FAIL_FILE=@FAIL_FILE@
SLOW_FILE=@SLOW_FILE@
# THT dirs (one per release; empty: no real THT here) and the render cache.
THT_DIRS=(@THT_DIRS@)
THT_RESOLVE=@THT_RESOLVE@
RENDER_CACHE=@RENDER_CACHE@

# The deploy's templates as Heat sees them: THT rendered with the deploy's
# roles_data.yaml and network_data.yaml, every -e file and every
# resource_registry target of those files fetched from it (tht-resolve);
# fails as Heat does ("Could not fetch contents for file://...").
resolve_templates() {
  ((${#THT_DIRS[@]})) || return 0
  /usr/bin/python3 "$THT_RESOLVE" "$WORK_DIR" "$RENDER_CACHE" "${THT_DIRS[@]}" -- "$@" || exit 1
}

json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/\\r}
  printf '"%s"' "$s"
}

line="[$(json_string openstack)"
for a in "$@"; do line+=",$(json_string "$a")"; done
line+="]"
printf '%s\n' "$line" >> "$CALLS"

# Before stackrc exists: the install writes it. Needs undercloud.conf in the home dir.
if [[ "${1:-} ${2:-}" == "undercloud install" ]]; then
  [[ -f $HOME/undercloud.conf ]] || { echo "openstack: $HOME/undercloud.conf not found" >&2; exit 1; }
  echo "The Undercloud has been successfully installed (apex lab stand-in)"
  exit 0
fi

if [[ -z ${APEX_LAB_STACKRC:-} ]]; then
  echo "openstack: no credentials (source stackrc first)" >&2
  exit 1
fi

in_work() { if [[ $1 == /* ]]; then printf '%s' "$1"; else printf '%s/%s' "$WORK_DIR" "$1"; fi; }

missing=()
expect_file=0
for a in "$@"; do
  file=""
  if ((expect_file)); then
    file=$a
    expect_file=0
  else
    case "$a" in
      -e | --environment-file) expect_file=1 ;;
      --environment-file=*) file=${a#--environment-file=} ;;
      -e?*) file=${a#-e} ;;
    esac
  fi
  [[ -z $file ]] && continue
  [[ $file != /* ]] && file="$WORK_DIR/$file"
  [[ -f $file ]] || missing+=("$file")
done
if ((expect_file)); then
  echo "openstack: -e needs an environment file" >&2
  exit 1
fi
if ((${#missing[@]})); then
  for m in "${missing[@]}"; do echo "openstack: environment file not found: $m" >&2; done
  exit 1
fi
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [[ ${args[i]} == --networks-file ]]; then
    f=$(in_work "${args[i + 1]:-}")
    [[ -f $f ]] || { echo "openstack: networks file not found: $f" >&2; exit 1; }
  fi
done

case "$1 $2 $3" in
  "overcloud image upload")
    for f in overcloud-full.qcow2 overcloud-full.vmlinuz overcloud-full.initrd \
      ironic-python-agent.initramfs ironic-python-agent.kernel; do
      [[ -f $PWD/$f ]] || { echo "openstack: image file not found: $PWD/$f" >&2; exit 1; }
    done
    echo "Image \"overcloud-full\" was uploaded (apex lab stand-in)"
    ;;
  "overcloud node import")
    f=$(in_work "${!#}")
    grep -q '"nodes"' "$f" 2>/dev/null || { echo "openstack: no nodes in $f" >&2; exit 1; }
    ;;
  "overcloud deploy --templates"*)
    resolve_templates "$@"
    if [[ -f $SLOW_FILE ]]; then
      echo "$$" > "$SLOW_FILE.started"
      sleep "$(cat "$SLOW_FILE")"
    fi
    if [[ -f $FAIL_FILE ]]; then
      echo "Stack overcloud CREATE_FAILED" >&2
      exit 1
    fi
    printf 'export OS_AUTH_URL=http://127.0.0.1:13000/v3\nexport OS_USERNAME=admin\nexport OS_PROJECT_NAME=admin\n' \
      > "$WORK_DIR/overcloudrc"
    echo "Overcloud Deployed (apex lab stand-in: nothing was deployed)"
    ;;
  "stack failures list")
    cat "$FAIL_FILE" 2>/dev/null
    ;;
  "server list -f")
    echo '[{"ID": "1", "Name": "overcloud-controller-0", "Status": "ACTIVE", "Networks": "ctlplane=192.0.2.60"}]'
    ;;
esac
exit 0
