from mus_desktop.cli import main

raise SystemExit(main())
