import sys


def _main() -> int:
    argv = sys.argv[1:]
    # Each command imports what it needs and no more: serve starts fast, install and doctor run
    # with the standard library alone (a bare python3, before any dependency is installed).
    if argv[:1] == ["serve"]:
        from .server import main as serve

        return serve(argv[1:])
    if argv[:1] == ["install"]:
        from .install import main as install

        return install(argv[1:])
    if argv[:1] == ["schema"]:
        from .schema import main as schema

        return schema(argv[1:])
    if argv[:1] == ["doctor"]:
        from .doctor import main as doctor

        return doctor(argv[1:])
    from .cli import main

    return main()


sys.exit(_main())
