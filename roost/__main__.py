from roost.cli.main import main

raise SystemExit(main())
