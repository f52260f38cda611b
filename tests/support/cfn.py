"""CloudFormation's intrinsics, resolved as a stack would resolve them: the
few the toolkit's templates use in policy documents (Ref to a pseudo
parameter, Fn::Sub with pseudo parameters only)."""

from __future__ import annotations

import re


def resolve(value, pseudo):
    """`value` with every {"Ref": P} and {"Fn::Sub": "...${P}..."} replaced from
    `pseudo` ({"AWS::AccountId": ..., "AWS::Region": ..., "AWS::Partition": ...})."""
    if isinstance(value, list):
        return [resolve(v, pseudo) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return pseudo[value["Ref"]]
        if set(value) == {"Fn::Sub"}:
            return re.sub(r"\$\{([^}]+)\}", lambda m: pseudo[m.group(1)], value["Fn::Sub"])
        return {k: resolve(v, pseudo) for k, v in value.items()}
    return value


def pseudo_parameters(account_id="123456789012", region="us-east-1", partition="aws"):
    return {"AWS::AccountId": account_id, "AWS::Region": region, "AWS::Partition": partition}
