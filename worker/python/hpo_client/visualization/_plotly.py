# hpo_client.visualization._plotly: plotly, or an ImportError that says how to install it.
"""The plotly modules the plots use. Importing hpo_client.visualization without plotly raises
ImportError naming the package to install."""

try:
    import plotly
    import plotly.colors
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
except ImportError as e:
    raise ImportError(
        "hpo_client.visualization needs plotly (4.0 or newer), which is not installed: on "
        "Debian/Ubuntu `apt-get install python3-plotly`, elsewhere `pip install plotly`") from e


def _version(text):
    out = []
    for part in text.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


PLOTLY_VERSION = _version(getattr(plotly, "__version__", "0"))
if PLOTLY_VERSION < (4, 0, 0):
    raise ImportError("hpo_client.visualization needs plotly 4.0 or newer (found %s): on "
                      "Debian/Ubuntu `apt-get install python3-plotly`, elsewhere "
                      "`pip install -U plotly`" % plotly.__version__)

COLOR_SCALE = plotly.colors.sequential.Blues

__all__ = ["COLOR_SCALE", "PLOTLY_VERSION", "go", "make_subplots", "plotly"]
