#!/usr/bin/env bash
# ctest deb_package: builds the Debian package with `cpack -G DEB` and checks it with dpkg-deb
# (files, control fields, conffiles, maintainer scripts), the packaged unit with systemd-analyze,
# and the packaged binaries (--version, --check-config on the packaged config).
#
#   deb_test.sh CMAKE CPACK SOURCE_DIR BUILD_DIR BUILD_PREFIX GENERATOR CXX_COMPILER
#
# A .deb needs a tree configured with prefix /usr. When BUILD_DIR is one, cpack runs there and
# reuses its binaries; otherwise (the usual test build has /usr/local) BUILD_DIR/deb-build is
# configured with /usr, Release, no tests and no benchmarks, and only the daemon and the CLI are
# compiled. deb-build is kept between runs so that a rerun only recompiles what changed; the
# package and everything extracted from it live in a temporary directory removed on exit.
set -euo pipefail

if [[ $# -ne 7 ]]; then
  echo "usage: $0 CMAKE CPACK SOURCE_DIR BUILD_DIR BUILD_PREFIX GENERATOR CXX_COMPILER" >&2
  exit 2
fi
cmake=$1 cpack=$2 src=$3 build=$4 build_prefix=$5 generator=$6 cxx=$7

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() { echo "ok: $*"; }

# cpack's DEB generator runs dpkg-shlibdeps (package dpkg-dev) and, to find the ELF files,
# file (package file).
for tool in dpkg-deb dpkg-shlibdeps file; do
  command -v "$tool" >/dev/null ||
    fail "$tool not found (packages dpkg-dev and file; scripts/deps.sh installs them)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wa-deb-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# 1. A build tree with prefix /usr.
if [[ $build_prefix == /usr ]]; then
  pkgbuild=$build
  echo "packaging the binaries of $build (prefix /usr)"
else
  pkgbuild=$build/deb-build
  echo "configuring $pkgbuild (prefix /usr; this build has $build_prefix)"
  # A cache left by another generator cannot be reconfigured: start that tree afresh.
  if [[ -f $pkgbuild/CMakeCache.txt ]] &&
    ! grep -qxF "CMAKE_GENERATOR:INTERNAL=$generator" "$pkgbuild/CMakeCache.txt"; then
    rm -rf "$pkgbuild"
  fi
  "$cmake" -S "$src" -B "$pkgbuild" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release \
    -DWA_BUILD_TESTS=OFF -DWA_BUILD_BENCH=OFF -DWA_SANITIZE=OFF >"$tmp/configure.log" 2>&1 ||
    { cat "$tmp/configure.log" >&2; fail "configure of $pkgbuild"; }
  start=$SECONDS
  "$cmake" --build "$pkgbuild" --target wa-routerd wa-router \
    --parallel "$(nproc 2>/dev/null || echo 2)" \
    >"$tmp/build.log" 2>&1 || { tail -n 60 "$tmp/build.log" >&2; fail "build in $pkgbuild"; }
  echo "built wa-routerd and wa-router in $((SECONDS - start)) s"
fi

# 2. The package. cpack writes the .deb and its staging tree into $tmp/out (-B).
(cd "$pkgbuild" && "$cpack" -G DEB -B "$tmp/out") >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB"; }
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$pkgbuild/CPackConfig.cmake")
[[ -n $version ]] || fail "no CPACK_PACKAGE_VERSION in $pkgbuild/CPackConfig.cmake"
arch=$(dpkg --print-architecture)
deb=$tmp/out/wa-router_${version}_${arch}.deb
[[ -f $deb ]] || { ls -l "$tmp/out" >&2; fail "cpack wrote no $(basename "$deb")"; }
ok "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"
[[ $arch == amd64 ]] || echo "note: architecture $arch, not amd64; checking against $arch"

# 3. Files: exactly these regular files, with these modes.
dpkg-deb -c "$deb" >"$tmp/contents"
cat "$tmp/contents"
awk '$1 !~ /^d/ { print $1, $6 }' "$tmp/contents" | sort >"$tmp/files"
sort >"$tmp/expected" <<EOF
-rw-r--r-- ./etc/wa-router/wa-routerd.yaml
-rw-r--r-- ./lib/systemd/system/wa-routerd.service
-rw-r--r-- ./usr/share/doc/wa-router/README.md
-rwxr-xr-x ./usr/bin/wa-router
-rwxr-xr-x ./usr/bin/wa-routerd
EOF
diff -u "$tmp/expected" "$tmp/files" || fail "package files differ from the expected list"
if awk '{ print $2 }' "$tmp/contents" | grep -qv '^root/root$'; then
  fail "files not owned by root/root"
fi
ok "files: the two binaries, the config, the unit, the README (root/root, 0755/0644)"

# 4. Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == wa-router ]] || fail "Package is '$(field Package)'"
[[ $(field Version) == "$version" ]] || fail "Version is '$(field Version)', expected $version"
[[ $(field Architecture) == "$arch" ]] || fail "Architecture is '$(field Architecture)'"
maintainer_re='^[^<]+ <[^@>]+@[^>]+>$'
[[ $(field Maintainer) =~ $maintainer_re ]] || fail "Maintainer is '$(field Maintainer)'"
[[ -n $(field Description) ]] || fail "no Description"
depends=$(field Depends)
for lib in libhiredis libboost-program-options libboost-json libyaml-cpp libspdlog libsystemd0 \
  libprometheus-cpp-core libc6 libstdc++6; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
# Shared libraries only: Redis itself (which may run on another host) is a Recommends.
if tr ',|' '\n' <<<"$depends" | grep -qE '^ *redis'; then
  fail "Depends names a Redis package: $depends"
fi
[[ $(field Recommends) == redis-server ]] || fail "Recommends is '$(field Recommends)'"
ok "control: $(field Package) $(field Version) $(field Architecture)," \
  "Maintainer $(field Maintainer)"
ok "Depends: $depends"

# 5. Control archive: conffiles lists the config exactly once; the maintainer scripts are there.
dpkg-deb -e "$deb" "$tmp/DEBIAN"
[[ $(grep -c . "$tmp/DEBIAN/conffiles") == 1 ]] ||
  { cat "$tmp/DEBIAN/conffiles" >&2; fail "conffiles should hold exactly one line"; }
[[ $(cat "$tmp/DEBIAN/conffiles") == /etc/wa-router/wa-routerd.yaml ]] ||
  fail "conffiles is '$(cat "$tmp/DEBIAN/conffiles")'"
for script in postinst prerm postrm; do
  [[ -x $tmp/DEBIAN/$script ]] || fail "no executable $script in the control archive"
  cmp -s "$tmp/DEBIAN/$script" "$src/packaging/$script" ||
    fail "$script differs from packaging/$script"
  sh -n "$tmp/DEBIAN/$script" || fail "$script is not valid sh"
done
ok "conffiles: /etc/wa-router/wa-routerd.yaml; postinst, prerm, postrm present"

# The maintainer scripts, run with the arguments dpkg gives them and with systemctl,
# deb-systemd-* and rmdir replaced by stubs that log their arguments, so nothing on this host
# changes. With systemd "running" (a private mount namespace with /run/systemd/system, when
# unshare is allowed): enable on install, daemon-reload, never start, try-restart on upgrade,
# stop on remove. With stubs that fail, as where systemd does not run (containers, CI): exit 0.
systemd_ns=0
if [[ $tmp != /run/* ]] && unshare --mount --propagation private true 2>/dev/null; then
  systemd_ns=1
fi
run_maintainer_scripts() { # $1: the stubs' exit status, $2: 1 to fake a running systemd
  rm -rf "$tmp/stubs" "$tmp/stub-calls"
  mkdir -p "$tmp/stubs"
  touch "$tmp/stub-calls"
  for stub in systemctl deb-systemd-helper deb-systemd-invoke rmdir; do
    printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit %s\n' "$stub" "$tmp/stub-calls" "$1" \
      >"$tmp/stubs/$stub"
    chmod +x "$tmp/stubs/$stub"
  done
  local args script action rest wrap=()
  if [[ $2 == 1 ]]; then
    # shellcheck disable=SC2016 # expanded by the inner shell
    wrap=(unshare --mount --propagation private
      sh -c 'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec "$@"' sh)
  fi
  for args in "postinst configure" "postinst configure $version" "postinst abort-upgrade $version" \
    "prerm upgrade $version" "prerm remove" "postrm upgrade $version" "postrm remove" \
    "postrm purge"; do
    echo "== $args" >>"$tmp/stub-calls"
    read -r script action rest <<<"$args"
    # shellcheck disable=SC2086 # $rest is the optional version argument
    "${wrap[@]}" env PATH="$tmp/stubs:$PATH" DPKG_ROOT="" sh "$tmp/DEBIAN/$script" "$action" $rest \
      >"$tmp/script.out" 2>&1 ||
      {
        cat "$tmp/script.out" "$tmp/stub-calls" >&2
        fail "$args exited non-zero (stubs exiting $1)"
      }
  done
  if grep -qE "^(systemctl|deb-systemd-invoke)( --[a-z]+)* (start|restart|reload|enable --now)" \
    "$tmp/stub-calls"; then
    cat "$tmp/stub-calls" >&2
    fail "a maintainer script starts the service"
  fi
}
calls_of() { # the stub calls logged while the maintainer script invocation $1 ran
  awk -v want="== $1" '/^== / { on = ($0 == want); next } on' "$tmp/stub-calls"
}
expect_call() { # $1: invocation, $2: a stub call it must make
  calls_of "$1" | grep -qxF "$2" ||
    { cat "$tmp/stub-calls" >&2; fail "'$1' does not run '$2'"; }
}
expect_no_call() { # $1: invocation, $2: a regular expression no stub call may match
  if calls_of "$1" | grep -qE "$2"; then
    cat "$tmp/stub-calls" >&2
    fail "'$1' runs $(calls_of "$1" | grep -E "$2" | head -n1)"
  fi
}
run_maintainer_scripts 0 0
expect_call "postinst configure" "deb-systemd-helper enable wa-routerd.service"
expect_no_call "postinst configure" "^(systemctl|deb-systemd-invoke) "
expect_call "postrm purge" "deb-systemd-helper purge wa-routerd.service"
run_maintainer_scripts 1 0
if [[ $systemd_ns == 1 ]]; then
  run_maintainer_scripts 0 1
  expect_call "postinst configure" "deb-systemd-helper enable wa-routerd.service"
  expect_call "postinst configure" "systemctl --system daemon-reload"
  expect_no_call "postinst configure" "^deb-systemd-invoke "
  expect_call "postinst configure $version" "deb-systemd-invoke try-restart wa-routerd.service"
  expect_no_call "prerm upgrade $version" "stop"
  expect_call "prerm remove" "deb-systemd-invoke stop wa-routerd.service"
  expect_call "postrm remove" "systemctl --system daemon-reload"
  run_maintainer_scripts 1 1
  ok "maintainer scripts: enable but no start on install, try-restart on upgrade, stop on remove"
else
  echo "skip: unshare not allowed, the maintainer scripts are not run with systemd present"
fi
ok "maintainer scripts exit 0 when systemctl/deb-systemd-* fail or systemd is not running"

# 6. The packaged unit: ExecStart is /usr/bin/wa-routerd, and systemd-analyze accepts it.
dpkg-deb -x "$deb" "$tmp/root"
unit=$tmp/root/lib/systemd/system/wa-routerd.service
exec_start=$(grep '^ExecStart=' "$unit") || fail "the unit has no ExecStart"
[[ $exec_start =~ ^ExecStart=/usr/bin/wa-routerd\ .*--config\ /etc/wa-router/wa-routerd.yaml ]] ||
  fail "ExecStart does not run /usr/bin/wa-routerd with the packaged config: $exec_start"
# shellcheck disable=SC2013 # Documentation= holds space-separated URLs
for doc in $(sed -n 's/^Documentation=//p' "$unit"); do
  if [[ $doc == file://* && ! -f $tmp/root${doc#file://} ]]; then
    fail "Documentation $doc is not in the package"
  fi
done
ok "unit: $exec_start"
if command -v systemd-analyze >/dev/null; then
  # verify needs the binaries to exist: point the copy at the extracted ones. It exits 0 on most
  # problems and only prints them, so any output is a failure.
  mkdir -p "$tmp/verify"
  sed "s|/usr/bin/wa-routerd|$tmp/root/usr/bin/wa-routerd|g" "$unit" \
    >"$tmp/verify/wa-routerd.service"
  out=$(systemd-analyze verify "$tmp/verify/wa-routerd.service" 2>&1) ||
    { echo "$out" >&2; fail "systemd-analyze verify exited non-zero"; }
  [[ -z $out ]] || { echo "$out" >&2; fail "systemd-analyze verify printed warnings"; }
  ok "systemd-analyze verify: no output"
else
  echo "skip: systemd-analyze not found, the packaged unit is not verified"
fi

# 7. The packaged binaries run (their libraries resolve on this host) and accept the packaged
# config.
out=$("$tmp/root/usr/bin/wa-routerd" --version) || fail "wa-routerd --version exited non-zero"
[[ $out == "wa-routerd $version" ]] || fail "wa-routerd --version printed '$out'"
out=$("$tmp/root/usr/bin/wa-router" --version) || fail "wa-router --version exited non-zero"
[[ $out == "wa-router $version" ]] || fail "wa-router --version printed '$out'"
"$tmp/root/usr/bin/wa-routerd" --config "$tmp/root/etc/wa-router/wa-routerd.yaml" --check-config ||
  fail "wa-routerd --check-config rejects the packaged config"
cmp -s "$tmp/root/etc/wa-router/wa-routerd.yaml" "$src/config/wa-routerd.yaml" ||
  fail "the packaged config differs from config/wa-routerd.yaml"
cmp -s "$tmp/root/usr/share/doc/wa-router/README.md" "$src/README.md" ||
  fail "the packaged README differs from README.md"
ok "wa-routerd --version, wa-router --version, wa-routerd --check-config on the packaged config"
echo "deb_package: all checks passed"
