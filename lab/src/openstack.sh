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
# The lab undercloud's root (beside the calls file): the overcloud's state and
# the post-deploy switches live there (see lab_post_deploy below).
LAB_ROOT=${CALLS%/*}
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

@JSON_STRING@

# --- Post-deploy and node answers (apex's step 10 and the registered-nodes
# check). The overcloud (commands run with the stand-in overcloudrc sourced)
# keeps what was created as files under $LAB_ROOT/overcloud/<kind>/<name>;
# $LAB_ROOT/fail_command holds an argv prefix ("subnet create") that fails
# once matched; $LAB_ROOT/registered_nodes the number of nodes ironic lists
# (default 5).
lab_fail_on_request() {
  local f=$LAB_ROOT/fail_command want
  [[ -f $f ]] || return 0
  want=$(cat "$f")
  if [[ -n $want && "$*" == "$want"* ]]; then
    echo "openstack: failing on request of the lab ($f: $want)" >&2
    exit 1
  fi
}

lab_overcloud() {
  local store=$LAB_ROOT/overcloud
  mkdir -p "$store"
  case "$1 $2" in
    "network show" | "subnet show")
      [[ -f $store/$1/$3 ]] || { echo "No $1 found for $3" >&2; return 1; }
      cat "$store/$1/$3"
      ;;
    "network create" | "subnet create")
      if [[ -f $store/$1/$3 ]]; then
        echo "openstack: $1 $3 exists (the lab counts this as a duplicate create)" >&2
        return 1
      fi
      mkdir -p "$store/$1"
      printf '%s-id-%s\n' "$1" "$3" > "$store/$1/$3"
      echo "created $1 $3"
      ;;
    "project list")
      echo '[{"ID": "5f3c0ac7e1d94d2c9c3cbd4e6f0a1b2c", "Name": "admin"}, {"ID": "0e1d", "Name": "service"}]'
      ;;
    "endpoint list")
      echo '[{"Region": ""}, {"Region": "regionOne"}, {"Region": "regionOne"}]'
      ;;
    "congress datasource")
      case "$3" in
        list)
          local first=1
          printf '['
          for d in "$store"/datasource/*; do
            [[ -f $d ]] || continue
            ((first)) || printf ', '
            first=0
            printf '{"name": "%s"}' "${d##*/}"
          done
          printf ']\n'
          ;;
        create)
          [[ -f $store/datasource/$4 ]] && { echo "openstack: datasource $4 exists" >&2; return 1; }
          mkdir -p "$store/datasource"
          : > "$store/datasource/$4"
          ;;
        *) echo "openstack: congress datasource $3: not in the lab" >&2; return 1 ;;
      esac
      ;;
    *)
      echo "openstack: $1 $2: not an overcloud command the lab answers" >&2
      return 1
      ;;
  esac
}

# Undercloud-side answers of the post-deploy; returns 2 when not one of them.
lab_post_deploy() {
  case "$1 $2" in
    "port list")
      echo '[{"ID": "9a7e", "Name": "control_virtual_ip", "Fixed IP Addresses": "ip_address='"'"'192.0.2.5'"'"', subnet_id='"'"'c1'"'"'"}]'
      ;;
    "stack resource")
      lab_stack_resources
      ;;
    "stack environment")
      echo '{"parameter_defaults": {"OpenDaylightPassword": "lab-odl-secret"}}'
      ;;
    "baremetal node")
      local n=5 i first=1
      [[ -f $LAB_ROOT/registered_nodes ]] && n=$(cat "$LAB_ROOT/registered_nodes")
      printf '['
      for ((i = 0; i < n; i++)); do
        ((first)) || printf ', '
        first=0
        printf '{"UUID": "node-%d", "Provisioning State": "available", "Maintenance": false}' "$i"
      done
      printf ']\n'
      ;;
    *) return 2 ;;
  esac
}

# --- The overcloud stack while a slow deploy runs (apex follows it with
# `stack resource list`): seven resources; the first six go from in progress
# to complete one after the other over the first half of the slow time, the
# last stays in progress for the second half (a quiet stack, as a stuck one
# looks). $LAB_ROOT/stack_started holds "<start ms> <seconds>".
LAB_STACK_RESOURCES=(Networks ControllerServiceChain ComputeServiceChain Controller Compute
  ControllerDeployment_Step1 ComputeDeployment_Step5)

lab_stack_begin() {
  if [[ -n ${1:-} ]]; then
    printf '%s %s\n' "$(($(date +%s%N) / 1000000))" "$1" > "$LAB_ROOT/stack_started"
  else
    rm -f "$LAB_ROOT/stack_started"
  fi
}

lab_stack_resources() {
  local f=$LAB_ROOT/stack_started start total el n half i from to st first=1
  if [[ ! -f $f ]]; then
    echo '[]'
    return 0
  fi
  read -r start total < "$f"
  el=$(($(date +%s%N) / 1000000 - start))
  n=${#LAB_STACK_RESOURCES[@]}
  half=$((total * 500))
  printf '['
  for ((i = 0; i < n; i++)); do
    if ((i < n - 1)); then
      from=$((i * half / (n - 1)))
      to=$(((i + 1) * half / (n - 1)))
    else
      from=$half
      to=$((total * 1000))
    fi
    if ((el < from)); then st=INIT_COMPLETE; elif ((el < to)); then st=CREATE_IN_PROGRESS; else st=CREATE_COMPLETE; fi
    ((first)) || printf ', '
    first=0
    printf '{"resource_name": "%s", "resource_status": "%s", "stack_name": "overcloud"}' "${LAB_STACK_RESOURCES[i]}" "$st"
  done
  printf ']\n'
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

lab_fail_on_request "$@"
if [[ -n ${APEX_LAB_OVERCLOUDRC:-} ]]; then
  lab_overcloud "$@"
  exit $?
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

lab_post_deploy "$@"
rc=$?
((rc == 2)) || exit $rc

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
      lab_stack_begin "$(cat "$SLOW_FILE")"
      echo "$$" > "$SLOW_FILE.started"
      sleep "$(cat "$SLOW_FILE")"
    fi
    [[ -f $SLOW_FILE ]] || lab_stack_begin ""
    if [[ -f $FAIL_FILE ]]; then
      echo "Stack overcloud CREATE_FAILED" >&2
      exit 1
    fi
    printf 'export OS_AUTH_URL=http://127.0.0.1:13000/v3\nexport OS_USERNAME=admin\nexport OS_PROJECT_NAME=admin\nexport OS_PASSWORD=lab-admin-secret\nexport APEX_LAB_OVERCLOUDRC=1\n' \
      > "$WORK_DIR/overcloudrc"
    echo "Overcloud Deployed (apex lab stand-in: nothing was deployed)"
    ;;
  "stack failures list")
    cat "$FAIL_FILE" 2>/dev/null
    ;;
  "server list -f")
    # The lab's overcloud nodes (sshd on loopback, started by a test) when it has any.
    if [[ -f $LAB_ROOT/servers.json ]]; then cat "$LAB_ROOT/servers.json"; else echo '[]'; fi
    ;;
esac
exit 0
