"""Accounts: the portal's collector accounts, set-password links, logins, sessions and throttling (``logins``), and the ops' search over collectors (``directory``)."""
