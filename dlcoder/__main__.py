from dlcoder.cli import main

raise SystemExit(main())
