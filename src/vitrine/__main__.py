from vitrine.cli import main

raise SystemExit(main())
