from xlplan.cli import main

main()
