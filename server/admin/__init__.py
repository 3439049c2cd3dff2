"""``winledger admin``: one module per concern, each with its ``*_command`` functions.

- ``parser``: the arguments of every action (argparse only), and which module runs each
- ``store``: the store as every action opens it, and the line that names the database
- ``users``: create-user, create-token, list-tokens, revoke-token
- ``migrate``: migrate
- ``rebuild``: rebuild (the rebuild itself is ``server.projections.rebuild``)
- ``backup``: backup and restore
- ``stats``: stats (and the figures ``GET /metrics`` shares)
- ``erase``: delete-user
"""
