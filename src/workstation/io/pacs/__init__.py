"""PACS: query, retrieve and send over DIMSE (pynetdicom; C-GET on our own upper layer) and DICOMweb.

=================  ==================================================================
module             what it holds
=================  ==================================================================
``nodes``          DIMSE and DICOMweb nodes, our AE, server strings (no secrets)
``credentials``    passwords and tokens from the environment or the system keyring
``errors``         :class:`PacsError`: node, fault, one-line message, exit status
``query``          queries and result rows, the same for C-FIND and QIDO-RS
``dimse``          C-ECHO, C-FIND, C-GET, C-MOVE, C-STORE
``upper_layer``    an association on one socket, PDUs read through one buffer (C-GET)
``get_scu``        C-GET: sub-operations streamed to files, C-STORE-RSPs
``command_set``    DIMSE command sets read and written by hand (C-GET)
``dicomweb``       QIDO-RS, WADO-RS, STOW-RS
``client``         :func:`connect`: the client of a node
``scp``            our storage SCP (C-MOVE destination, pushed studies)
``transfer``       destinations and the sink writing received instances atomically
``retrieve``       resumable, cancellable retrieve of a study or series
``send``           sending files (results the application made)
``cache``          the cache folder of retrieved studies, size limit, clear-cache
``listener``       receiving pushed studies into the cache and the database
``routing``        rules -> analyses to run on a received study (pure)
``config``         the PACS settings, read with or without Qt
=================  ==================================================================

Nothing here imports Qt; the desktop application and ``workstation-batch pacs`` share it.
"""
