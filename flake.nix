{
  description = "workflow.nvim: linear YAML workflows in Neovim, one step buffer at a time";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      # Keep in step with [project.dependencies] in pyproject.toml.
      pythonDeps = ps: with ps; [ pynvim msgpack pyyaml gitpython ollama ];
      testDeps = ps: with ps; [ pytest ruff mypy types-pyyaml ];
    in
    {
      # A first development shell; packages, checks and apps come with the
      # packaging work.
      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.neovim
            pkgs.git
            pkgs.gnumake
            (pkgs.python3.withPackages (ps: pythonDeps ps ++ testDeps ps))
          ];
          shellHook = ''
            export WORKFLOW_PYTHON=$(command -v python3) WORKFLOW_NVIM=$(command -v nvim)
          '';
        };
      });
    };
}
