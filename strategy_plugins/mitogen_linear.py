# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible's linear strategy, run through Mitogen.

An opt-in: ANSIBLE_STRATEGY=mitogen_linear (ansible.cfg runs Ansible's own
linear strategy). With it, the modules of a play on the local connection
(every AWS play) run in one Python interpreter that stays up for the whole
run, instead of a new interpreter per task that unpacks the module, compiles
its module_utils and imports boto3 again. A no-op site.yml takes about 40 %
less time (docs/performance.md). ansible-core prints a deprecation warning for
it, as for any strategy it does not ship, and AWX and the Ansible Automation
Platform do not support Mitogen.

Mitogen takes over the local and ssh connections (and a few container ones);
any other, like the chroot connection of the host scenarios, runs as it would
under `linear`. The plays that configure the bastion and the VPN host over SSH
set `strategy: linear`, so Mitogen runs the local plays only.

A Mitogen run killed with SIGKILL between two module runs leaves four
processes idle until they are killed: its connection multiplexer (named like
the run, in the killed run's session), two interpreters named
`python3(mitogen:...)`, and the run's worker, in a session of its own
(README, "Timing a run").

The class comes from the mitogen package that requirements.txt pins; this file
only lets ANSIBLE_STRATEGY name it without a path into the virtualenv.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: mitogen_linear
short_description: Ansible's linear strategy, with modules run through Mitogen
description:
  - Runs tasks as the linear strategy does, with each host's modules executed by
    a Mitogen interpreter that persists for the run.
  - Needs the mitogen package (requirements.txt).
author:
  - RNA-seq toolkit maintainers
"""

from ansible.errors import AnsibleError

try:
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy
except ImportError as error:
    raise AnsibleError(
        "ANSIBLE_STRATEGY=mitogen_linear needs the mitogen package: run `make venv` "
        "(or pip install -r requirements.txt -c constraints.txt), or unset "
        f"ANSIBLE_STRATEGY to run with Ansible's own linear strategy ({error})."
    ) from error

_Linear = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, _Linear):
    """The linear strategy with Mitogen's connection and action wrappers."""
