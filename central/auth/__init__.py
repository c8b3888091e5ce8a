"""Who is calling: staff with bearer tokens; terminals with signed requests
(the provisioning issue's scheme plugs in at :mod:`central.auth.terminals`)."""
