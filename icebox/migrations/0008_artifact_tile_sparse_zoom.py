from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('icebox', '0007_artifact_tile_overview_zoom'),
    ]

    operations = [
        migrations.AddField(
            model_name='artifact',
            name='tile_sparse_zoom',
            field=models.SmallIntegerField(blank=True, null=True),
        ),
    ]
