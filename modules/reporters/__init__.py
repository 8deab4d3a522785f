"""Reporters: detector alerts (UniRec or aggregator JSON) to IDEA0 messages, YAML rules that
decide where each message goes, and an IDEA validator.

    report2idea.py    the reporter module (`nemea report2idea --detector NAME`)
    aliases.py        the NEMEA names (vportscan2idea, ...) as preset commands
    mappings.py       one conversion per detector (alert -> IDEA dict), declared in a table
    blacklist.py      the blacklist conversion and the bl_downloader list configuration
    idea_values.py    IDEA value forms: times, addresses, protocol names, Node
    idea_builder.py   assembles a message (key order, Source/Target objects)
    rules_config.py   the YAML rule file: namespace, address groups, actions, rules
    actions.py        file, stdout, syslog, trap, mark, drop
    rule_engine.py    runs the rules on a message
    filter_*.py       the rule condition language (pynspect-like)
    json_path.py      `Source[0].IP4` paths: read and set
    example_config.yaml  a commented rule file (`-c ... -d` checks it)
    idea_validator.py IDEA0 checks (idea.md §7); validate_cli.py is `nemea idea-validate`
"""
