from cxm.cli import main

main()
