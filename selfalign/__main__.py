from .cli import main

# vLLM starts its engine core as a spawned process, which imports this module again as
# __mp_main__: only the real entry point runs the command.
if __name__ == "__main__":
    main()
