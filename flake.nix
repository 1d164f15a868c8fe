{
  description = "workflow.nvim: linear YAML workflows in Neovim, one step buffer at a time";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # The packages the plugin's Python side needs. Keep in step with
      # [project.dependencies] in pyproject.toml and with
      # rplugin/python3/workflow_nvim/dependencies.py (tests/unit/test_packaging.py checks it).
      pythonDeps = ps: with ps; [ msgpack pyyaml gitpython ollama regex ];
      # pynvim drives Neovim in the end-to-end tests; the plugin does not use it.
      testDeps = ps: with ps; [ pynvim pytest ruff mypy types-pyyaml ];

      plugin = pkgs:
        let
          python = pkgs.python3.withPackages pythonDeps;
        in
        pkgs.vimUtils.buildVimPlugin {
          pname = "workflow.nvim";
          version = "0.1.0";
          src = self;
          # Its own environment is this Python, which has the packages: host.lua
          # tries it where it would try the one :WorkflowInstall makes, and
          # :WorkflowInstall has nothing to do. No python3 provider is needed.
          postPatch = ''
            substituteInPlace lua/workflow/host.lua \
              --replace-fail "M.own_python = nil" "M.own_python = '${python}/bin/python3'"
            substituteInPlace autoload/workflow/host.vim \
              --replace-fail "export const OWN_PYTHON = '''" "export const OWN_PYTHON = '${python}/bin/python3'"
          '';
          # The tests and the benchmarks are not part of the plugin.
          postInstall = "rm -rf $out/tests $out/bench";
        };

      # Neovim with the plugin and an isolated config: what `make demo` is, for
      # `nix run`. No python3 provider: the plugin brings its own Python.
      demo = pkgs:
        let
          nvim = pkgs.neovim.override {
            withPython3 = false;
            configure.packages.workflow.start = [ (plugin pkgs) ];
          };
        in
        pkgs.writeShellApplication {
          name = "workflow-demo";
          runtimeInputs = [ nvim pkgs.git ];
          text = ''
            demo="''${XDG_CACHE_HOME:-$HOME/.cache}/workflow-nvim-demo"
            mkdir -p "$demo"/{config,data,state,cache}
            cd "$demo"
            XDG_CONFIG_HOME="$demo/config" XDG_DATA_HOME="$demo/data" XDG_STATE_HOME="$demo/state" \
              XDG_CACHE_HOME="$demo/cache" exec nvim '+WorkflowStart tutorial' "$@"
          '';
        };
    in
    {
      packages = forAll (pkgs: {
        default = plugin pkgs;
        demo = demo pkgs;
      });

      apps = forAll (pkgs: {
        default = {
          type = "app";
          program = "${demo pkgs}/bin/workflow-demo";
        };
      });

      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.neovim
            pkgs.git
            pkgs.gnumake
            pkgs.ollama
            (pkgs.python3.withPackages (ps: pythonDeps ps ++ testDeps ps))
          ];
          shellHook = ''
            export WORKFLOW_PYTHON=$(command -v python3) WORKFLOW_NVIM=$(command -v nvim)
          '';
        };
      });

      # The test suite (unit and end-to-end) against nixpkgs' Neovim.
      checks = forAll (pkgs: {
        default = pkgs.runCommand "workflow-nvim-tests"
          {
            nativeBuildInputs = [
              pkgs.neovim
              pkgs.git
              (pkgs.python3.withPackages (ps: pythonDeps ps ++ testDeps ps))
            ];
          } ''
          cp -r ${self} src && chmod -R u+w src && cd src
          export HOME=$TMPDIR WORKFLOW_NVIM=$(command -v nvim) WORKFLOW_PYTHON=$(command -v python3)
          export PYTHONPATH=$PWD/rplugin/python3
          python3 -m pytest -q -p no:cacheprovider tests/unit tests/e2e
          touch $out
        '';
      });
    };
}
