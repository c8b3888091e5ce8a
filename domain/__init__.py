"""The vocabulary the server and the terminals share: money, identifiers,
wallets, pricing and wire messages. Pure: it imports nothing else of the project."""
