"""The Dockerfile's runtime packages are exactly the libraries the built
binary links: `readelf -d` NEEDED entries of VIGIL_BINARY, resolved by `ldd`,
owned (`dpkg -S`) by these packages, plus ca-certificates; the base image's
C/C++ runtime (libc6, libstdc++6, libgcc-s1) is already in bookworm-slim.

    VIGIL_BINARY=build/app/vigil python3 -m unittest -v test_docker_runtime
"""
import os
import re
import unittest

from deploy_common import run, tool
from test_dockerfile import REQUIRED_RUNTIME

IN_BASE_IMAGE = {"libc6", "libstdc++6", "libgcc-s1"}


def owning_package(path):
    candidates = {path, os.path.realpath(path)}
    for p in list(candidates):
        if p.startswith("/lib/"):
            candidates.add("/usr" + p)
        elif p.startswith("/usr/lib/"):
            candidates.add(p[len("/usr"):])
    for p in sorted(candidates):
        r = run(["dpkg", "-S", p])
        if r.returncode == 0:
            return r.stdout.split(":", 1)[0].strip()
    return None


class RuntimePackagesTest(unittest.TestCase):
    def test_runtime_packages_are_what_the_binary_links(self):
        binary = os.environ.get("VIGIL_BINARY")
        self.assertTrue(binary and os.access(binary, os.X_OK), "set VIGIL_BINARY to the built vigil")
        readelf = tool(self, "readelf")
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run([readelf, "-d", binary]).stdout)
        self.assertTrue(needed, "no NEEDED entries")
        ldd = run(["ldd", binary]).stdout
        paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
        # The dynamic loader is listed by its path alone ("/lib64/ld-linux-x86-64.so.2 (0x...)").
        paths.update({os.path.basename(p): p for p in re.findall(r"^\s*(/\S+) \(0x", ldd, re.M)})
        packages = {}
        for lib in needed:
            with self.subTest(lib=lib):
                self.assertIn(lib, paths, f"ldd does not resolve {lib}")
                pkg = owning_package(paths[lib])
                self.assertIsNotNone(pkg, f"no package owns {paths[lib]}")
                packages[pkg] = lib
        linked = set(packages) - IN_BASE_IMAGE
        self.assertEqual(REQUIRED_RUNTIME - {"ca-certificates"}, linked,
                         f"Dockerfile runtime packages vs the binary's libraries {packages}")


if __name__ == "__main__":
    unittest.main()
