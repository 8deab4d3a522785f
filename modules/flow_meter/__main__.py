from .meter import main

main()
