# A JSON string of $1 (backslash, quote, newline, tab and carriage return
# escaped), printed without a newline. Shared by the lab's stand-in scripts
# (undercloud::script_helpers puts it in place of their placeholder line).
json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/\\r}
  printf '"%s"' "$s"
}
