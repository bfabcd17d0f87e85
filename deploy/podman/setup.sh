# Sourced by scripts/deploy-test and scripts/test-containers: installs what running real
# containers here needs (Debian's podman, runc, debootstrap, podman-compose) when missing,
# and points podman at the project's own settings (containers.conf beside this file)
# through CONTAINERS_CONF, leaving /etc as it is.
export CONTAINERS_CONF
CONTAINERS_CONF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/containers.conf
podman_missing=()
for tool in podman runc debootstrap podman-compose; do
  command -v "$tool" >/dev/null 2>&1 || podman_missing+=("$tool")
done
if [ ${#podman_missing[@]} -gt 0 ]; then
  echo "[podman] installing ${podman_missing[*]} from the distribution's packages" >&2
  if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    "${podman_missing[@]}" >/dev/null
fi
unset podman_missing
