"""What every experiment shares, written once: the SGD loop and its checkpoint schedules (``training``), training in
phases with resume (``phases``), the saved resume state (``state``), reading layers and measuring usable
information at a checkpoint (``probe``), and many runs through the store (``runs``).

Import from the submodules: an experiment's code version is the import closure of its module, so this file
imports nothing and an experiment's closure holds only the engine modules it uses."""
