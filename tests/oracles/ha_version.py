"""Home Assistant's verdict on custom integrations' `version` values, from the real
awesomeversion package: reads a JSON list of values on stdin, prints a JSON list of booleans.

The loader first builds AwesomeVersion(value), then checks it again with the strategies it
accepts; an exception or a missing strategy blocks the integration from loading."""
import json
import sys

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from awesomeversion.exceptions import AwesomeVersionException

ACCEPTED = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]


def loads(value):
    try:
        AwesomeVersion(AwesomeVersion(value), ensure_strategy=ACCEPTED)
    except AwesomeVersionException:
        return False
    return True


print(json.dumps([loads(v) for v in json.load(sys.stdin)]))
