#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ssm_documents
short_description: Systems Manager documents with exactly the declared content, in one task
description:
  - For each document, makes sure it exists with the declared content as its default version, creating it, or
    adding a version and making it the default when the content differs.
  - Why a module of our own? Neither amazon.aws 10 nor community.aws 10 has a module for Systems Manager documents,
    and Session Manager's preferences are one (C(SSM-SessionManagerRunShell)).
  - Content is compared as data, so key order and whitespace make no difference.
  - With O(tags), an existing document's tags are read (one C(ListTagsForResource) call each) and made O(tags).
  - A document with O(documents[].state=absent) is deleted, with all its versions.
  - Supports check mode and diff.
options:
  documents:
    description: The documents.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The document's name.
        type: str
        required: true
      document_type:
        description: The document's type, such as C(Session) or C(Command); required when present.
        type: str
      content:
        description: The document's content, as data (written as JSON); required when present.
        type: dict
      state:
        description: Whether the document exists.
        type: str
        choices: [present, absent]
        default: present
  tags:
    description:
      - Tags of every document. Omitted, an existing document's tags are left as they are.
    type: dict
  purge_tags:
    description: Whether tags not in O(tags) are removed (AWS's own C(aws:) tags never are).
    type: bool
    default: true
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Session Manager logs every session to an encrypted log group
  ssm_documents:
    documents:
      - name: SSM-SessionManagerRunShell
        document_type: Session
        content:
          schemaVersion: "1.0"
          description: Session Manager preferences
          sessionType: Standard_Stream
          inputs:
            cloudWatchLogGroupName: /aws/ssm/sessions/rnaseq
            cloudWatchEncryptionEnabled: true
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {SSM-SessionManagerRunShell: [content]}
documents:
  description: Each document's default version after the run, by name (null for one check mode would create).
  returned: always
  type: dict
  sample: {"SSM-SessionManagerRunShell": "2"}
"""

import json

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import changes_from_diff
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_aws import tag_list

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def _version_with(ssm, name, content):
    """An earlier version of the document with this content: SSM refuses a new
    version that repeats one (DuplicateDocumentContent), so it becomes the
    default again instead."""
    # Versions are numbered from 1 to the latest.
    latest = int(ssm.describe_document(Name=name)["Document"]["LatestVersion"])
    for version in (str(n) for n in range(latest, 0, -1)):
        found = ssm.get_document(Name=name, DocumentVersion=version, DocumentFormat="JSON")
        if json.loads(found["Content"]) == content:
            return version
    return None


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            documents=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                document_type=dict(type="str"),
                content=dict(type="dict"),
                state=dict(type="str", choices=["present", "absent"], default="present"),
            ), required_if=[["state", "present", ["document_type", "content"]]]),
            tags=dict(type="dict"),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    ssm = module.client("ssm")
    tags = module.params["tags"]
    before, after, versions = {}, {}, {}
    for want in module.params["documents"]:
        name, content = want["name"], want["content"]
        try:
            found = ssm.get_document(Name=name, DocumentFormat="JSON")
            current = json.loads(found["Content"])
        except is_boto3_error_code("InvalidDocument"):
            found, current = None, None
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
            fail_aws(module, e, f"Failed to read document {name}")
        versions[name] = found["DocumentVersion"] if found else None
        try:
            if want["state"] == "absent":
                if found is not None:
                    before[name], after[name], versions[name] = {"content": current}, None, None
                    if not module.check_mode:
                        ssm.delete_document(Name=name)
                continue
            if found is None:
                before[name], after[name] = None, {"content": content, "tags": tags or {}}
                if not module.check_mode:
                    created = ssm.create_document(
                        Name=name, DocumentType=want["document_type"], DocumentFormat="JSON",
                        Content=json.dumps(content, sort_keys=True), **({"Tags": tag_list(tags)} if tags else {}))["DocumentDescription"]
                    versions[name] = created["DocumentVersion"]
                continue
            if current != content:
                before.setdefault(name, {})["content"], after.setdefault(name, {})["content"] = current, content
                if not module.check_mode:
                    version = _version_with(ssm, name, content) or ssm.update_document(
                        Name=name, DocumentFormat="JSON", Content=json.dumps(content, sort_keys=True),
                        DocumentVersion="$LATEST")["DocumentDescription"]["DocumentVersion"]
                    ssm.update_document_default_version(Name=name, DocumentVersion=version)
                    versions[name] = version
            if tags is not None:
                had = tag_dict(ssm.list_tags_for_resource(ResourceType="Document", ResourceId=name)["TagList"])
                stale, missing, now = purged_tags(had, tags, module.params["purge_tags"])
                if stale or missing:
                    before.setdefault(name, {})["tags"], after.setdefault(name, {})["tags"] = had, now
                    if not module.check_mode and stale:
                        ssm.remove_tags_from_resource(ResourceType="Document", ResourceId=name, TagKeys=stale)
                    if not module.check_mode and missing:
                        ssm.add_tags_to_resource(ResourceType="Document", ResourceId=name, Tags=tag_list(missing))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to write document {name}")
    module.exit_json(changed=bool(after), documents=versions, changes=changes_from_diff(before, after),
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
