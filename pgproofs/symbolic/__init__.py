"""SymPy derivations of the notes' algebra; each function returns its expressions for the report."""
