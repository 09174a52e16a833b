"""The phrase book's default texts: <locale>/<step>/<what>.j2, one phrase per file.

A package only so that the texts ship in the wheel and are found through importlib.resources
wherever Loket is installed; there is no code here.
"""
