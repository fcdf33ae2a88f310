"""Read an Icebox artifact with Debian's PyQGIS, as a modeller's QGIS would (run by /usr/bin/python3).

Usage: qgis_client.py <base url> <artifact id> <auth dir> [<username> <token>]

With a name and a token, a Basic authentication configuration holds them (QgsAuthManager in
<auth dir>, as QGIS's own authentication database); without, the layers have none. Prints one
JSON object: the OGC API Features layer's validity and features (id, lon, lat, attributes), and
the vector tile layer's validity and the rendered map's pixels in the marker colour.
Imports no Django: it is PyQGIS's interpreter, not the project's.
"""

import json
import os
import sys

base_url, artifact_id, auth_dir = sys.argv[1:4]
credentials = sys.argv[4:6]
os.environ["QGIS_AUTH_DB_DIR_PATH"] = auth_dir

from qgis.core import (  # noqa: E402 (QGIS_AUTH_DB_DIR_PATH must be set before QGIS starts)
    QgsApplication,
    QgsAuthMethodConfig,
    QgsCoordinateReferenceSystem,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsMarkerSymbol,
    QgsRectangle,
    QgsVectorLayer,
    QgsVectorTileBasicRenderer,
    QgsVectorTileBasicRendererStyle,
    QgsVectorTileLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QEventLoop, QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

MARKER = QColor(255, 0, 0)
SIZE = 512

QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()


def basic_config() -> str:
    if not credentials:
        return ""
    manager = QgsApplication.authManager()
    if not manager.setMasterPassword("qgis-test-master-password", True):
        raise SystemExit("cannot set the QGIS authentication master password")
    config = QgsAuthMethodConfig("Basic")
    config.setName("icebox")
    config.setConfig("username", credentials[0])
    config.setConfig("password", credentials[1])
    stored, config = manager.storeAuthenticationConfig(config)
    if not stored:
        raise SystemExit("cannot store the Basic authentication configuration")
    return config.id()


def read_features(authcfg: str) -> dict:
    uri = f"url='{base_url}/ogc' typename='{artifact_id}' pagingEnabled='true'"
    if authcfg:
        uri += f" authcfg={authcfg}"
    layer = QgsVectorLayer(uri, "icebox", "OAPIF")
    if not layer.isValid():
        return {"valid": False, "features": []}
    features = []
    for feature in layer.getFeatures():
        point = feature.geometry().asPoint()
        attributes = {name: feature[name] for name in layer.fields().names()}
        features.append({"lon": point.x(), "lat": point.y(), "attributes": attributes})
    return {"valid": True, "count": layer.featureCount(), "features": features}


def render_tiles(authcfg: str, extent: list) -> dict:
    url = f"{base_url}/artifact/{artifact_id}/tiles/{{z}}/{{x}}/{{y}}.mvt"
    source = f"type=xyz&url={url}&zmin=0&zmax=16"
    if authcfg:
        source += f"&authcfg={authcfg}"
    layer = QgsVectorTileLayer(source, "icebox tiles")
    if not layer.isValid():
        return {"valid": False, "marked": []}
    style = QgsVectorTileBasicRendererStyle("sites", None, QgsWkbTypes.PointGeometry)
    style.setSymbol(QgsMarkerSymbol.createSimple({"name": "square", "color": "255,0,0", "outline_style": "no", "size": "3", "size_unit": "Pixel"}))
    renderer = QgsVectorTileBasicRenderer()
    renderer.setStyles([style])
    layer.setRenderer(renderer)
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    settings.setOutputSize(QSize(SIZE, SIZE))
    settings.setExtent(QgsRectangle(*extent))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(settings)
    # Not job.waitForFinished(): a 401 challenge from the tile download thread is handed to the
    # main thread, which must keep running its event loop (blocked, QGIS deadlocks).
    loop = QEventLoop()
    job.finished.connect(loop.quit)
    job.start()
    loop.exec_()
    image = job.renderedImage()
    marked = [(x, y) for x in range(SIZE) for y in range(SIZE) if image.pixelColor(x, y) == MARKER]
    # The extent as drawn (QGIS widens one side to keep the pixels square).
    drawn = settings.visibleExtent()
    return {
        "valid": True,
        "marked": marked,
        "drawn_extent": [drawn.xMinimum(), drawn.yMinimum(), drawn.xMaximum(), drawn.yMaximum()],
    }


authcfg = basic_config()
result = {"features": read_features(authcfg), "tiles": render_tiles(authcfg, [float(v) for v in os.environ["ICEBOX_EXTENT_3857"].split(",")])}
print(json.dumps(result))
app.exitQgis()
