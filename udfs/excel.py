"""The Excel face of the engine: every KH_ function of the catalogue as an xlwings UDF.

This is the only module that imports xlwings. Point xlwings' ``UDF Modules`` setting at
``udfs.excel`` and run ``ImportPythonUDFs``. Each wrapper takes every argument as a 2-D
range (``ndim=2``), so a single cell and a whole column go through the same call, and
returns a 2-D list that Excel shows in the cell or spills over the range.
"""

from __future__ import annotations

import xlwings as xw

from .catalogue import CATEGORY, load_all


def _make(spec):
    """A module-level function named like the cell function with its exact argument names."""
    required = [a.name for a in spec.args if not a.optional]
    optional = [f"{a.name}=None" for a in spec.args if a.optional]
    source = (f"def {spec.name}({', '.join(required + optional)}):\n"
              f"    return _impl({', '.join(a.name for a in spec.args)}).tolist()\n")
    namespace = {"_impl": spec.impl}
    exec(source, namespace)  # noqa: S102 - names come from our own catalogue
    wrapper = namespace[spec.name]
    wrapper.__doc__ = spec.description  # xlwings shows the docstring in the function wizard
    wrapper.__module__ = __name__
    for arg in reversed(spec.args):
        wrapper = xw.arg(arg.name, ndim=2, doc=arg.description)(wrapper)
    return xw.func(category=CATEGORY)(wrapper)  # outermost, or xw.arg resets the category


for _spec in load_all().values():
    globals()[_spec.name] = _make(_spec)
del _spec
