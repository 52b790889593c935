from charrec.cli import main

main()
