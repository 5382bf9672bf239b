"""Module extensions for MODULE.bazel (Bzlmod): what rules/deps.bzl does for WORKSPACE."""

load("//rules/private:pip_repository.bzl", "pip_repository")
load(":deps.bzl", "DLCODER_PIP")

def _pip_impl(_module_ctx):
    pip_repository(**DLCODER_PIP)

pip = module_extension(
    implementation = _pip_impl,
    doc = "Declares @dlcoder_pip, the generator's packages pinned by " +
          "rules/requirements_lock.txt: the same repository as dlcoder_dependencies().",
)
