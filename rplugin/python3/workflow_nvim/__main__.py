import sys


def _main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["serve"]:  # the editor's server: nothing imported that its first request does not need
        from .server import main as serve

        return serve(argv[1:])
    from .cli import main

    return main()


sys.exit(_main())
