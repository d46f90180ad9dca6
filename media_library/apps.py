from django.apps import AppConfig


class MediaLibraryConfig(AppConfig):
    name = "media_library"
    verbose_name = "Media library"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from media_library.models import AudioTrack, Presenter
        from media_library.storage import remove_row_files

        for model in (Presenter, AudioTrack):
            post_delete.connect(remove_row_files, sender=model, dispatch_uid=f"media-files-{model.__name__}")
