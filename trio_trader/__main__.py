from trio_trader.cli import main

raise SystemExit(main())
